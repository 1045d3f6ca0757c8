Console.WriteLine("storm");
